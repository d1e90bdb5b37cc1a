"""Forms the device pages share: the tablet's /pos/ and the kitchen screens' /kds/."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


def normal_pairing_code(code: str) -> str:
    """A pairing code as stored: "abc-def " and "ABC DEF" are "ABCDEF"."""
    return (code or "").strip().upper().replace("-", "").replace(" ", "")


class PairingCodeForm(forms.Form):
    """The code a manager got for this device in the back office (6 letters); typed in any
    case, with or without a dash or spaces."""

    code = forms.CharField(
        label=gettext_lazy("Pairing code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "ABC-DEF",
                "autofocus": True,
                "inputmode": "text",
            }
        ),
    )

    def clean_code(self) -> str:
        return normal_pairing_code(self.cleaned_data["code"])
