"""Learn: a guided walk through the paper's Peyton example, beside what the chosen model does now."""

from __future__ import annotations

import streamlit as st

from tale_core.analysis import charts
from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.playground import PlaygroundConfig
from tale_core.providers import resolve
from tale_core.types import GenParams
from ui import classroom, hosted, learn_visuals, method_cards, playground_job, render, services, sidebar
from ui import learn_content as content

RESULTS_KEY = "learn_results"

sb = sidebar.current()
example = services.sample("peyton")
if example is None:
    st.error(
        "The bundled sample question 'peyton' is missing (tale_core/data/samples.jsonl): reinstall the app's files."
    )
    st.stop()
question, gold = str(example["question"]), str(example.get("answer", ""))

if st.query_params.get("classroom"):
    # pinned in the address bar: a link to the page already shown leaves it out, and the next click's
    # rerun would drop back to the normal page (as services.linked_experiment_id does for ?experiment=)
    st.query_params["classroom"] = "1"
    classroom.render_mode(question, gold)
    st.stop()

st.title("Learn: token elasticity")
st.page_link(
    "pages/learn.py",
    label="Classroom mode: large type, no sidebar, one step at a time (for a projector)",
    icon=":material/co_present:",
    query_params={"classroom": "1"},
)
st.markdown(content.INTRO)

st.subheader("1. The question")
render.model_text(question)
st.markdown(
    f"Correct answer: **{gold}**. Our bundled version of the paper's Figure 1 question (the sample set is "
    "written for this app, so its numbers may differ from the paper's)."
)

st.subheader("2. Four ways to ask, and what the paper saw")
st.markdown(f"Output tokens reported by the {content.PAPER_REF}, model {content.PAPER_MODEL}.")
cols = st.columns(len(content.STEPS))
for col, step in zip(cols, content.STEPS):
    with col.container(border=True):
        st.markdown(f"**{step.title}**")
        st.metric("Paper: output tokens", f"{step.paper_tokens}")
        st.markdown(step.what)
st.markdown(content.ELASTICITY)
st.plotly_chart(learn_visuals.curve_figure(question, gold), key="learn_curve")
st.markdown(
    "The whole curve, one call per budget: too small a budget (left) costs more than the sweet spot. "
    "Drawn with the SIMULATED demo model, shaped like the paper's measurements; *Elasticity sweep* draws "
    "your model's."
)

st.subheader("3. What your model does now")
model_spec = sb.models[0] if sb.models else None
if model_spec is None:
    st.info("Pick a model in the sidebar, then run the four calls here.")
else:
    st.markdown(content.CLASSROOM)
    st.markdown(content.CAVEATS)
    run = st.button(f"Run the 4 calls with {model_spec}", type="primary")
    if run and not hosted.allow_run("playground", [model_spec]):
        run = False
    if run:
        specs = [MethodSpec.parse(step.method) for step in content.STEPS]
        slots = method_cards.card_grid([step.title for step in content.STEPS], per_row=4)
        try:
            model = resolve(model_spec, sb.settings)
        except TaleError as e:
            for slot in slots:
                method_cards.show_message(slot, str(e))
        else:
            config = PlaygroundConfig(
                question=question,
                methods=tuple(specs),
                models=(model_spec,),
                gold=gold,
                params=GenParams(max_tokens=1024, temperature=0.0, seed=0),
                source="learn",
            )
            results = {}
            with playground_job.recording(config, "Learn: Peyton example") as rec:
                for method, slot in zip(specs, slots):
                    r = method_cards.run_into_card(slot, lambda on_text, m=method: rec.one(model, m, on_text=on_text))
                    if r is not None:
                        results[method.to_str()] = r
            exp_id = rec.experiment_id
            st.session_state[RESULTS_KEY] = {"model": model_spec, "results": results, "experiment": exp_id}
    last = st.session_state.get(RESULTS_KEY)
    if last and not run:
        slots = method_cards.card_grid([step.title for step in content.STEPS], per_row=4)
        for step, slot in zip(content.STEPS, slots):
            r = last["results"].get(step.method)
            if r is not None:
                method_cards.show_result(slot, r)
    rows = [
        {
            "label": step.title,
            "paper_tokens": step.paper_tokens,
            "now_tokens": (
                last["results"][step.method].output_tokens if last and step.method in last["results"] else None
            ),
        }
        for step in content.STEPS
    ]
    st.plotly_chart(
        charts.paper_vs_now_figure(rows, model=last["model"] if last else model_spec, paper_model=content.PAPER_MODEL),
        key="learn_chart",
    )
    if last:
        if last["model"] != model_spec:
            st.markdown(render.md_escape(f"These results are from {last['model']}; run again to try {model_spec}."))
        services.experiment_link(last.get("experiment"))

st.subheader("4. How TALE uses this")
st.markdown(content.TALE)
learn_visuals.tale_ep_step(question, gold)
