"""diaodu: supervision of a district's key construction projects over chat."""
