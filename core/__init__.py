"""TransferLab core: data import, backbone registry, feature cache, training and runs.

UI-free on purpose: the Streamlit pages, the CLI (``python -m core``) and the tests all call
these same functions. Nothing here imports streamlit.
"""

__version__ = "0.1.0"
