"""The relationship network (关系网络): the merchant graph, ring detection and its reads."""
