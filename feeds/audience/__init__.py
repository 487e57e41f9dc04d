"""The audience of a feed over time: sampling reader counts (`sampling`) and reading them back as
the desk's chart, each entry's reach, the API and CSV (`stats`)."""
