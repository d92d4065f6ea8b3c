"""The Train page's "Share this lesson" button: a dialog with the short link that students
open on their own laptops (``genlab.classroom.share``: the server's network address, only the
settings that differ from the lesson, no projector flag) and its QR code, large enough to scan
from a projected screen."""
from __future__ import annotations

import streamlit as st

from genlab.classroom.lessons import Lesson
from genlab.classroom.share import qr_png, share_url, short_query


def _page_url() -> str:
    """The Train page's address as the teacher's browser shows it (no query)."""
    url = st.context.url
    if url:
        return url
    return f"http://localhost:{st.get_option('server.port')}/train"  # no browser (AppTest)


def lesson_link(les: Lesson, variant: str | None, on_screen: dict[str, str]) -> str | None:
    return share_url(_page_url(), short_query(les, variant, on_screen))


@st.dialog("Share this lesson", width="large")
def _dialog(les: Lesson, variant: str | None, on_screen: dict[str, str]) -> None:
    url = lesson_link(les, variant, on_screen)
    if url is None:
        st.error("This server has no network address that other computers could reach: start it "
                 "on a machine in the class's network (or set GENLAB_PUBLIC_HOST to its name).")
        return
    st.markdown(f"**{les.title}**" + (f", variant {variant}" if variant else ""))
    st.code(url, language=None)
    st.image(qr_png(url), caption="Scan to open the lesson", width=360, output_format="PNG")
    st.caption("Students open this on their own laptops: the lesson's settings"
               + (" and the ones you changed" if len(short_query(les, variant, on_screen)) > 1 + bool(variant)
                  else "") + ". Projector mode is not part of the link.")


def share_lesson_button(les: Lesson, variant: str | None, on_screen: dict[str, str]) -> None:
    if st.button("Share this lesson", key="tr_share_lesson", icon="📣",
                 help="A short link with this server's network address, and its QR code."):
        _dialog(les, variant, on_screen)
