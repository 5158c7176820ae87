"""The tutorials, shipped with the package: each module here is a link to a jupytext percent
script in the repository's tutorials/ folder (the one source). Run them with
`morphax tutorial run NAME [--quick]`; they are scripts, not meant to be imported."""
