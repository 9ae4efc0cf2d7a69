"""Router: the front door for contact-center software, and who takes each ticket."""
