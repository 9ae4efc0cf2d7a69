"""Text tools every service may use: sentence encoders whose weights ship inside installed packages."""
