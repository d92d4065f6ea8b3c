"""Live views that cost almost nothing: keyed ``st.components.v2`` components whose JavaScript
(packaged asset files in ``assets/``, loaded once by the browser, never re-sent) keeps its DOM
between refreshes and is handed only what is new.

- ``live_chart``  (pages/_ui/live/chart.py): line panels that APPEND rows; the server remembers
  per session and key what it sent and sends only the rows after that (a snapshot diff).
- ``live_image``  (pages/_ui/live/image.py): an image sent only when its content changes, at its
  own size (the browser enlarges it with crisp pixels).
- ``live_scatter`` (pages/_ui/live/scatter.py): a 2-D point cloud by class, sent when it changes.
- ``ticker``      (pages/_ui/live/ticker.py): the refresh timer of a fragment, asking for the
  next rerun only while the tab is visible, and slower while nothing changes.

Each component, if the browser lost what it had (a new tab, a page re-mounted), asks the server
to send everything again (a ``resync`` trigger). ``component(name)`` registers an asset-backed
component on the running Streamlit (its asset folder is declared here, as an installed
package's ``pyproject.toml`` would) and returns its mount function.
"""
from pages._ui.live.base import component
from pages._ui.live.chart import live_chart
from pages._ui.live.image import live_image
from pages._ui.live.scatter import live_scatter
from pages._ui.live.ticker import ticker

__all__ = ["component", "live_chart", "live_image", "live_scatter", "ticker"]
