"""The published warehouse: publication of the gated build into the serving copies BI reads."""
