"""The Train page names a run after the lesson, its variant and the model kind, follows a
variant switch with the name (the AE variant used to be saved as "...-vae-...-2"), keeps a name
typed by hand, and a variant switch changes only what the variant sets: the epochs typed stay."""
from test_train_url import train_page


def test_variant_switch_renames_the_run_and_keeps_the_other_settings():
    at = train_page()
    at.selectbox(key="tr_lesson").set_value("ae-vs-vae-mnist").run()
    assert at.text_input(key="tr_name").value == "ae-vs-vae-mnist-vae"
    at.number_input(key="tr_epochs_vae").set_value(3).run()
    at.number_input(key="tr_latent_vae").set_value(16).run()

    at.radio(key="tr_variant").set_value("ae").run()
    assert not at.exception and not at.error
    assert at.radio(key="tr_kind").value == "ae"
    assert at.text_input(key="tr_name").value == "ae-vs-vae-mnist-ae"
    assert at.number_input(key="tr_epochs_ae").value == 3  # not the lesson's 20 again
    assert at.number_input(key="tr_latent_ae").value == 16
    q = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert (q["variant"], q["kind"], q["epochs"]) == ("ae", "ae", "3")

    at.radio(key="tr_variant").set_value("main").run()
    assert at.text_input(key="tr_name").value == "ae-vs-vae-mnist-vae"
    assert at.number_input(key="tr_epochs_vae").value == 3

    at.text_input(key="tr_name").set_value("my-own-vae").run()
    at.radio(key="tr_variant").set_value("ae").run()
    assert at.text_input(key="tr_name").value == "my-own-vae"  # typed by hand: kept


def test_a_lesson_variant_named_otherwise_is_in_the_name():
    at = train_page({"lesson": "posterior-collapse", "variant": "beta1"})
    assert at.text_input(key="tr_name").value == "posterior-collapse-beta1-vae"


def test_a_rerun_that_does_not_rename_the_run_leaves_the_name_box_alone(monkeypatch):
    """A value the script sets replaces what the browser holds. Writing the automatic name on
    every rerun dropped a name typed while an earlier rerun ran (type the epochs, Enter, type a
    name: the run started under the automatic name on a busy machine). It is written only when it
    changes, and the clock moving on does not change it."""
    import pages._ui.train_form as form
    at = train_page()
    name = at.text_input(key="tr_name")
    assert name.proto.set_value and name.value.startswith("mnist-vae-")  # the first default
    monkeypatch.setattr(form.time, "strftime", lambda fmt: "1231-2359")  # a minute later
    at.number_input(key="tr_epochs_vae").set_value(3).run()
    assert not at.text_input(key="tr_name").proto.set_value  # the box keeps what the user types
    assert at.text_input(key="tr_name").value == name.value
    at.radio(key="tr_kind").set_value("ae").run()  # a new kind: a new automatic name, sent
    assert at.text_input(key="tr_name").proto.set_value
    assert at.text_input(key="tr_name").value == "mnist-ae-1231-2359"
