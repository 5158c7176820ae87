"""morphax.fabrication: print-ready export (STL, 3MF, STEP) and print reports."""
