"""The relationship network: the merchant graph, ring detection and its reads."""
