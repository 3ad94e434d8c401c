"""Side effects of the booking workflow: writing the notice rows and delivering notices."""
