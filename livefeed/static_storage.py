"""Static files for production: hashed names, compressed copies, and ES modules that find each other."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed, compressed storage, also rewriting `import ... from "./x.js"` in modules.

    A module loaded by its hashed name that imported its neighbours by their plain names would
    fetch them unhashed (short-cached, and possibly a different version after a deploy).
    """

    support_js_module_import_aggregation = True
