"""Flask blueprints (thin), folium map composition, templates, static assets, translations."""
