"""Reading results: elasticity, statistics and charts."""
