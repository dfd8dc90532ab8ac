"""Experiments: every run saved in the database. Search, open, share, rename, compare, rerun, export,
import and delete."""

from __future__ import annotations

import streamlit as st

from tale_core.errors import TaleError
from ui import experiments_view as ev
from ui import fmt, hosted, render, rerun, services, sidebar

PAGE_SIZE = 25

st.title("Experiments")
sb = sidebar.current()
store = services.get_store()
if store is None:
    st.error(render.md_text(services.store_problem() or "The database is not available, so nothing can be listed."))
    st.stop()

experiment_id = services.linked_experiment_id()
compare_ids = ev.unique_ids((st.query_params.get("compare") or "").split(","))


def back_to_list() -> None:
    st.query_params.clear()


# ---------------------------------------------------------------- one experiment
if experiment_id:
    st.button("All experiments", on_click=back_to_list)
    try:
        detail = store.get_experiment(experiment_id)
    except TaleError as e:
        st.error(render.md_text(str(e)))
        st.stop()
    st.subheader(render.md_escape(detail.title))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Kind", ev.SHORT_KIND.get(detail.kind, detail.kind))
    c2.metric("Status", detail.status.capitalize())
    c3.metric("Calls", len(detail.calls))
    c4.metric("Spent", fmt.usd(detail.cost_usd))
    meta = (
        f"Created {ev.when(detail.created_at)} · price table {detail.price_table or 'unknown'} · app "
        f"{detail.app_version or '?'}"
    )
    st.caption(render.md_escape(meta))
    if detail.parent_id:
        st.page_link(
            "pages/experiments.py",
            label="Rerun of an earlier experiment: open the original",
            query_params={"experiment": detail.parent_id},
        )
    if detail.notes:
        st.markdown("**Notes**")
        render.model_text(detail.notes)

    page = rerun.PAGE_OF_KIND.get(detail.kind)
    if page and page != "pages/experiments.py":
        st.page_link(
            page,
            label=f"Open in {ev.KIND_LABELS[detail.kind]} (charts and tables)",
            query_params={"experiment": detail.id},
        )
    st.markdown("**Share**")
    st.code(ev.share_url_for(detail.kind, detail.id), language=None)
    st.caption(hosted.share_note())
    editable = hosted.can_edit(detail.id)
    if not editable:
        st.info("Opened by link: read-only. Rerun makes your own copy.")

    tab_calls, tab_edit, tab_actions = st.tabs(["Calls", "Rename and notes", "Rerun, export, delete"])
    with tab_calls:
        if detail.calls:
            ev.calls_table(detail.calls, key="ex_calls")
        else:
            st.info("No calls were recorded for this experiment.")
        if detail.summary:
            with st.expander("Summary (JSON)"):
                st.json(detail.summary, expanded=False)
    with tab_edit:
        new_title = st.text_input(
            "Title", value=detail.title, key=f"ex_title_{detail.id}", max_chars=300, disabled=not editable
        )
        notes = st.text_area(
            "Notes", value=detail.notes, key=f"ex_notes_{detail.id}", height=120, disabled=not editable
        )
        if st.button("Save", key="ex_save", disabled=not editable):
            try:
                if new_title.strip() != detail.title:
                    store.rename(detail.id, new_title)
                if notes != detail.notes:
                    store.annotate(detail.id, notes)
            except TaleError as e:
                st.error(render.md_text(str(e)))
            else:
                st.success("Saved.")
                st.rerun()
    with tab_actions:
        st.markdown(
            "Run it again with the same settings. Deterministic calls already made come free from the "
            "cache, so a rerun reproduces the results without spending."
        )
        if editable and detail.kind in rerun.RESUMABLE and detail.status in ("interrupted", "cancelled", "failed"):
            st.markdown(
                f"This run is **{detail.status}**: Resume runs only its missing cells, into this same experiment."
            )
            if st.button("Resume", key="ex_resume", type="primary") and (resumed := hosted.allow_rerun(detail)):
                try:
                    with st.spinner("Resuming..."):
                        target, same_id = rerun.resume(resumed[0], sb.settings)
                except TaleError as e:
                    st.error(render.md_text(str(e)))
                else:
                    st.switch_page(target, query_params={"experiment": same_id})
        if st.button("Rerun", key="ex_rerun", type="primary") and (gated := hosted.allow_rerun(detail)):
            try:
                with st.spinner("Starting the rerun..."):
                    target, new_id = rerun.rerun(gated[0], sb.settings)
            except TaleError as e:
                st.error(render.md_text(str(e)))
            else:
                st.switch_page(target, query_params={"experiment": new_id})
        try:
            from db.bundle import export_bytes

            bundle = export_bytes(detail.id, store)
        except Exception as e:  # export must never take the page down
            st.error(render.md_escape(f"Could not export this experiment: {e}"))
        else:
            st.download_button(
                "Export as a file (JSON bundle)",
                bundle,
                file_name=f"tale-{detail.id}.json",
                mime="application/json",
                key="ex_export",
            )
        st.divider()
        if not editable:
            pass
        elif not st.session_state.get(f"ex_confirm_{detail.id}"):
            if st.button("Delete this experiment", key="ex_delete"):
                st.session_state[f"ex_confirm_{detail.id}"] = True
                st.rerun()
        else:
            st.warning(
                render.md_escape(f"Delete '{detail.title}' and its {len(detail.calls)} call(s)? This cannot be undone.")
            )
            d1, d2 = st.columns(2)
            if d1.button("Yes, delete it", key="ex_delete_yes", type="primary"):
                hosted.delete_experiment(store, detail.id)
                st.session_state.pop(f"ex_confirm_{detail.id}", None)
                st.query_params.clear()
                st.session_state["ex_flash"] = f"Deleted '{detail.title}'."
                st.rerun()
            if d2.button("Keep it", key="ex_delete_no"):
                st.session_state.pop(f"ex_confirm_{detail.id}", None)
                st.rerun()
    st.stop()

# ---------------------------------------------------------------- compare
if compare_ids:
    st.button("All experiments", on_click=back_to_list)
    details = []
    for cid in compare_ids[:6]:
        try:
            details.append(store.get_experiment(cid))
        except TaleError as e:
            st.warning(render.md_text(str(e)))
    if len(details) < 2:
        st.info("Pick at least two experiments to compare.")
        st.stop()
    st.subheader(f"Comparing {len(details)} experiments")
    fig = ev.sweep_overlay(details)
    if fig is not None:
        st.plotly_chart(fig, key="ex_overlay")
    render.rows_table(ev.compare_rows(details), key="ex_compare")
    st.stop()


def bulk_delete(items: list) -> None:
    """Delete several listed experiments at once, after a confirmation that names how many."""
    labels = ev.picker_labels(items)
    with st.expander("Delete several experiments"):
        chosen = st.multiselect(
            "Experiments to delete", [e.id for e in items], key="ex_bulk_pick", format_func=lambda i: labels.get(i, i)
        )
        if not chosen:
            return
        if not st.session_state.get("ex_bulk_confirm"):
            if st.button(f"Delete {len(chosen)} experiment(s)", key="ex_bulk_delete"):
                st.session_state["ex_bulk_confirm"] = True
                st.rerun()
            return
        st.warning(f"Delete {len(chosen)} experiment(s) and all their calls? This cannot be undone.")
        b1, b2 = st.columns(2)
        if b1.button("Yes, delete them", key="ex_bulk_yes", type="primary"):
            gone = sum(1 for i in chosen if store.delete(i))
            st.session_state.pop("ex_bulk_confirm", None)
            st.session_state.pop("ex_bulk_pick", None)
            st.session_state["ex_flash"] = f"Deleted {gone} experiment(s)."
            st.rerun()
        if b2.button("Keep them", key="ex_bulk_no"):
            st.session_state.pop("ex_bulk_confirm", None)
            st.rerun()


# ---------------------------------------------------------------- the list
flash = st.session_state.pop("ex_flash", None)
if flash:
    st.success(render.md_escape(flash))
flash_warning = st.session_state.pop("ex_flash_warning", None)
if flash_warning:
    st.warning(render.md_escape(flash_warning))
imported_id = st.session_state.pop("ex_imported", None)
if imported_id:
    st.page_link("pages/experiments.py", label="Open the imported experiment", query_params={"experiment": imported_id})
f1, f2, f3 = st.columns([3, 1, 1])
search = f1.text_input("Search titles, notes and questions", key="ex_search", placeholder="e.g. Peyton")
kind = f2.selectbox(
    "Kind",
    ["all", *ev.KIND_LABELS],
    key="ex_kind",
    format_func=lambda k: "All kinds" if k == "all" else ev.KIND_LABELS[k],
)
status = f3.selectbox(
    "Status",
    ["all", "running", "done", "cancelled", "failed"],
    key="ex_status",
    format_func=lambda s: "Any status" if s == "all" else s.capitalize(),
)
filters = dict(search=search or None, kind=None if kind == "all" else kind, status=None if status == "all" else status)
shown = int(st.session_state.get("ex_shown", PAGE_SIZE))
try:
    total = store.count_experiments(**filters, **hosted.list_filter())
    items = store.list_experiments(limit=shown, **filters, **hosted.list_filter())
except TaleError as e:
    st.error(render.md_text(str(e)))
    st.stop()

if total == 0 and not any(filters.values()):
    st.info(
        "No experiments yet. Every run is saved here: try the Playground, an Elasticity sweep, a Budget "
        "search or a Benchmark, or import a bundle below."
    )
elif total == 0:
    st.info("Nothing matches these filters. Clear the search or pick another kind or status.")
else:
    st.caption(f"{total} experiment(s), newest first.")
    if len(items) >= 2:
        cc1, cc2 = st.columns([5, 1], vertical_alignment="bottom")
        labels = ev.picker_labels(items)
        picked = cc1.multiselect(
            "Compare",
            [e.id for e in items],
            key="ex_compare_pick",
            max_selections=6,
            format_func=lambda i: labels.get(i, i),
            placeholder="Pick two or more experiments to compare",
        )
        if cc2.button("Compare", disabled=len(picked) < 2, key="ex_compare_go"):
            st.query_params["compare"] = ",".join(ev.unique_ids(picked))
            st.rerun()
    for e in items:
        ev.list_row(e)
    bulk_delete(items)
    if shown < total and st.button(f"Show {min(PAGE_SIZE, total - shown)} more", key="ex_more"):
        st.session_state["ex_shown"] = shown + PAGE_SIZE
        st.rerun()

with st.expander("Import an experiment (JSON bundle)"):
    up = st.file_uploader("Bundle exported from TALE Explorer", type=["json"], key="ex_import")
    if up is not None and st.button("Import", key="ex_import_go"):
        try:
            from db.bundle import import_bundle_report

            report = import_bundle_report(up.getvalue(), store)
            new_id = report.id
            hosted.claim(new_id, count_run=False)
            imported = store.get_experiment(new_id)
            if not imported.title.startswith(ev.IMPORTED_PREFIX):  # told apart from its original in the list
                store.rename(new_id, ev.IMPORTED_PREFIX + imported.title)
        except TaleError as e:
            st.error(render.md_text(str(e)))
        else:
            where = " It is at the top of the list, marked 'Imported copy'."
            if report.duplicates:
                st.session_state["ex_flash_warning"] = report.message() + where
            else:
                st.session_state["ex_flash"] = report.message() + where
            st.session_state["ex_imported"] = new_id
            st.rerun()  # the list above shows it now
