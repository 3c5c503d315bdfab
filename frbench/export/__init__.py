"""The export job (`job.export_model`): a trained model to one phone format.

It loads the model through its method (`frbench.methods.load_trained`), asks the method for its
declared form of that format (`Method.export_form` -> `frbench.contract.ExportForm`), and hands the
form to the format (`frbench.formats.get_format`), which writes, reads back and runs the file.
"""

from ..formats import UpdateFiles
from .job import export_model

__all__ = ["UpdateFiles", "export_model"]
