"""Reading brands' supplier lists: parse, validate, normalise, match, write.

The steps are plain functions over rows so the web, the worker, the management command and
the benchmark all run exactly the same code (``suppliers.services`` calls them).
"""

from score_portal.uploads import UploadError

# A file that can't be read as a whole: the upload reader's one error, which the import's
# own checks (no usable header, no rows) raise too. The message tells the uploader what to fix.
ImportFileError = UploadError
