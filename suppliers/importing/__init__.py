"""Reading brands' supplier lists: parse, validate, normalise, match, write.

The steps are plain functions over rows so the web, the worker, the management command and
the benchmark all run exactly the same code (``suppliers.services`` calls them).
"""


class ImportFileError(Exception):
    """The file as a whole can't be read; the message tells the uploader what to fix."""
