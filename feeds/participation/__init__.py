"""The participation plug-in: live polls, reactions and moderated reader questions (docs/participation.md)."""
