"""Process entry: settings in, a running worker (and, for ``dev``, the embedded stack) out."""
