"""The HTML reports of a run, drawn from xenlab.results data: `html` (the summary on top
of the pytest-html report, the steps of a scenario, a lab's page, the class report),
with the pictures it inlines, `timeline` (matplotlib) and `topology` (SVG)."""
from xenlab.report.html import class_page, class_table, lab_page, steps_html, summary_html
from xenlab.report.timeline import timeline_png
from xenlab.report.topology import topology_svg

__all__ = ["class_page", "class_table", "lab_page", "steps_html", "summary_html",
           "timeline_png", "topology_svg"]
