"""``protoproof explore``: step through a model in a web page (a face layer, beside ``cli.py``).

``session`` computes what a page shows from its query string (the model, its parameters and a
path of action indices: the permalink); ``server`` serves that as JSON plus one static page.
"""
