"""The admin's "train a scorer" form: the same options as ``manage.py train_scorer``."""

from __future__ import annotations

import json

from django import forms

from scoring.actions import DEVICES, TrainingRequest
from scoring.encoders import DEFAULT_ENCODER, ENCODERS
from scoring.model_io import DEFAULT_EPOCHS
from scoring.models import Variant
from sketches.models import Category


class TrainScorerForm(forms.Form):
    name = forms.SlugField(max_length=80, help_text="Unique, e.g. gacl-cos-pig-face.")
    variant = forms.ChoiceField(choices=Variant.choices, initial=Variant.COS)
    soft_binning = forms.BooleanField(
        required=False, initial=True, help_text='Untick for the "w/o sbin" ablation (ignored for softmax).'
    )
    encoder = forms.ChoiceField(
        choices=[(name, name) for name in sorted(ENCODERS)],
        initial=DEFAULT_ENCODER,
        help_text="cnn trains in minutes on a CPU; paper_bilstm is the paper's 2×1024 BiLSTM (GPU workers).",
    )
    encoder_kwargs = forms.CharField(
        required=False,
        initial="{}",
        help_text='JSON, e.g. {"feat_dim": 256}.',
        widget=forms.TextInput(attrs={"size": 50}),
    )
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.order_by("name"),
        required=False,
        help_text="None chosen: every category with sketches in both the train and the test split.",
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )
    per_category = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Training sketches per category (lowest ids first); empty: all.",
    )
    epochs = forms.IntegerField(min_value=1, max_value=500, initial=DEFAULT_EPOCHS)
    batch_size = forms.IntegerField(min_value=2, max_value=4096, initial=64)
    lr = forms.FloatField(min_value=1e-7, max_value=1.0, initial=1e-3, label="Learning rate")
    seed = forms.IntegerField(min_value=0, initial=0)
    device = forms.ChoiceField(
        choices=[(d, d) for d in DEVICES],
        initial="auto",
        help_text="auto: the worker's cuda, then mps, then cpu.",
    )

    def clean_encoder_kwargs(self):
        raw = self.cleaned_data["encoder_kwargs"].strip() or "{}"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object, e.g. {}")
        return value

    def training_request(self) -> TrainingRequest:
        data = self.cleaned_data
        return TrainingRequest(
            name=data["name"],
            variant=data["variant"],
            soft_binning=data["soft_binning"],
            encoder=data["encoder"],
            encoder_kwargs=data["encoder_kwargs"],
            categories=[c.slug for c in data["categories"]] or None,
            per_category=data["per_category"],
            epochs=data["epochs"],
            batch_size=data["batch_size"],
            lr=data["lr"],
            seed=data["seed"],
            device=data["device"],
        )
