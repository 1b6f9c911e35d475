"""The command line application (depends on the library; the library never imports it)."""
