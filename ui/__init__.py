"""Streamlit helpers shared by the pages: session state, charts, small widgets. No training here."""
