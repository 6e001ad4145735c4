"""`python -m bot …` commands. The top layer: may import anything."""
