"""ContactPoint: a national directory of children and of the practitioners and services in contact with them."""
