"""The tutorials: jupytext percent scripts, runnable as scripts, as notebooks, and with
`morphax tutorial run NAME [--quick] [--out DIR]` (which sets their QUICK and OUT globals)."""
