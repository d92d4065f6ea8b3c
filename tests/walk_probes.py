"""What the press-everything walk (tests/test_walk.py) reads from the page: the controls it
presses and how it finds them, whether the app is at rest, the sidebar's links and whether a
training of this session is still live: CONTROLS is CSS, the others are JavaScript functions for
``page.evaluate``."""

# kind -> the CSS of one pressable element of that kind, in the order they are pressed: the
# settings first (tickboxes before radios, which may switch a view and grey them out), then buttons (so "Start training" starts what the settings say, and Pause /
# Stop come right after it), then expanders (which reveal more), then tabs (which hide the open
# tab's content, walked by then).
CONTROLS = {
    "selectbox": '[data-testid="stSelectbox"] [role="combobox"]',
    "multiselect": '[data-testid="stMultiSelect"] [role="combobox"]',
    "checkbox": '[data-testid="stCheckbox"] label',
    "radio": '[data-testid="stRadioOption"]',
    "slider": '[data-testid="stSlider"] [role="slider"]',
    "number": '[data-testid="stNumberInput"] [data-testid="stNumberInputStepUp"]',
    "button": '[data-testid="stButton"] button, [data-testid="stDownloadButton"] button, '
              '[data-testid="stFormSubmitButton"] button, [data-testid="stButtonGroup"] button',
    "expander": '[data-testid="stExpander"] details:not([open]) > summary',
    "tab": '[data-baseweb="tab-list"] [role="tab"]',
}
# Each visible control of the main area (and the sidebar's, outside the page links): its kind,
# a key that names it across reruns (kind, its widget's label, its own text, digits blurred so a
# count in a label does not make it new), whether it is disabled. The element gets a data-walk
# attribute so that Python can find the very element the key was made from.
DISCOVER = """(controls) => {
  const out = [];
  let n = 0;
  document.querySelectorAll('[data-walk]').forEach(el => el.removeAttribute('data-walk'));
  for (const [kind, css] of controls) {
    const seen = {};
    for (const el of document.querySelectorAll(css)) {
      if (!el.checkVisibility() || el.closest('[data-testid="stSidebarNav"]')) continue;
      const box = el.closest('[data-testid^="st"][data-testid$="Button"], [data-testid="stSelectbox"],'
        + '[data-testid="stMultiSelect"], [data-testid="stRadio"], [data-testid="stCheckbox"],'
        + '[data-testid="stSlider"], [data-testid="stNumberInput"], [data-testid="stExpander"],'
        + '[data-testid="stTabs"], [data-testid="stButtonGroup"]') || el;
      const lab = box.querySelector('[data-testid="stWidgetLabel"]');
      const own = (kind === 'selectbox' || kind === 'multiselect' || kind === 'slider'
                   || kind === 'number') ? '' : el.textContent;
      const side = el.closest('[data-testid="stSidebar"]') ? 'sidebar ' : '';
      let key = side + kind + ': ' + ((lab ? lab.textContent : '') + ' | ' + own)
        .replace(/[0-9][0-9,.]*/g, '#').replace(/\\s+/g, ' ').trim();
      seen[key] = (seen[key] || 0) + 1;
      if (seen[key] > 1) key += ' #' + seen[key];
      const id = 'w' + (n++);
      el.setAttribute('data-walk', id);
      const disabled = el.disabled || el.getAttribute('aria-disabled') === 'true'
        || !!el.closest('[disabled], [aria-disabled="true"]') || !!el.querySelector('input:disabled');
      out.push({kind, key, id, disabled, dialog: !!el.closest('[role="dialog"]')});
    }
  }
  return out;
}"""
# Whether the app is not at rest: a script run going on or asked for, or elements left stale.
BUSY = """() => { const app = document.querySelector('[data-testid="stApp"]');
  return !app || app.getAttribute('data-test-script-state') !== 'notRunning'
    || !!document.querySelector('[data-stale="true"]') }"""


# The sidebar's link to a page path, marked for Python to click (false until it is drawn).
LINK = """(path) => { const links = [...document.querySelectorAll('[data-testid="stSidebar"] a[href]')];
  links.forEach(a => a.removeAttribute('data-walk-link'));
  const a = links.find(a => a.getAttribute('href') && new URL(a.href).pathname === path);
  if (a) a.setAttribute('data-walk-link', '1');
  return !!a }"""
PATHS = """() => [...new Set([...document.querySelectorAll('[data-testid="stSidebar"] a[href]')]
  .filter(a => a.getAttribute('href')).map(a => new URL(a.href).pathname))]"""

# whether the page shows a training of this session that has not ended (the Train page's live
# view names its state: "NAME (KIND) — running")
LIVE_RUN = """() => [...document.querySelectorAll('[data-testid="stMarkdown"]')].some(e =>
    /— (queued|loading|running|paused)$/.test(e.innerText.trim()))"""
