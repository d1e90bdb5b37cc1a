"""Forms of the owners' back office (the Django admin) and the venue bookkeeping they share.

- `venue_lookup` / `venue_of`: how a row of any model reaches its venue (the admin scopes every
  query and every choice by it).
- `VenueScopedForm`: the base ModelForm of every venue-scoped admin form. It narrows choices to
  the row's venue, refuses a choice from another venue, and turns `MoneyField` inputs ("24.50",
  in the venue's currency) into integer minor units, never through a float.
- The staff forms (add a staff member, reset a PIN) and the bulk price change form. They only
  validate input; the admin hands the values to restaurant/services.py.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from restaurant import money
from restaurant.models import ItemModifierGroup, MenuWindow, Modifier, StaffMember, Venue
from restaurant.pins import PIN_RE

# --- How a row reaches its venue -----------------------------------------------------------

# Models without their own `venue` foreign key, with the ORM path to it. Models with a `venue`
# foreign key need no entry. orders/admin.py adds the order models (restaurant never imports
# orders).
VENUE_LOOKUPS: dict[type[models.Model], str] = {
    Venue: "pk",
    MenuWindow: "menu__venue",
    ItemModifierGroup: "item__venue",
    Modifier: "group__venue",
}


def register_venue_lookup(model: type[models.Model], lookup: str) -> None:
    VENUE_LOOKUPS[model] = lookup


def venue_lookup(model: type[models.Model]) -> str | None:
    """The ORM path from `model` to its Venue ("venue", "group__venue", "pk"), or None."""
    if model in VENUE_LOOKUPS:
        return VENUE_LOOKUPS[model]
    try:
        field = model._meta.get_field("venue")
    except FieldDoesNotExist:
        return None
    if field.is_relation and field.related_model is Venue:
        return "venue"
    return None


def venue_of(obj: models.Model | None) -> Venue | None:
    """The venue `obj` belongs to, following its venue lookup; None when it has none (yet)."""
    if obj is None:
        return None
    lookup = venue_lookup(type(obj))
    if lookup is None:
        return None
    if lookup == "pk":
        return obj
    for hop in lookup.split("__"):
        # A missing relation raises RelatedObjectDoesNotExist, an AttributeError.
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return obj


def venue_id_of(obj: models.Model | None) -> int | None:
    """The pk of the venue of `obj`, reading the last foreign key id without a query."""
    if obj is None:
        return None
    lookup = venue_lookup(type(obj))
    if lookup is None:
        return None
    if lookup == "pk":
        return obj.pk
    *hops, last = lookup.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


# --- Money inputs ---------------------------------------------------------------------------


class DecimalInputField(forms.DecimalField):
    """A decimal typed with a dot or a comma: "24.50" and "24,50" both mean 24.50.

    Like restaurant.money.parse_amount: a comma is the decimal mark when there is no dot.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(" ", "")
            if "," in value and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)


class MoneyField(DecimalInputField):
    """An amount typed in major units ("24.50", "24,50").

    `clean()` returns a Decimal; the form converts it to minor units once it knows the venue's
    currency (see VenueScopedForm).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "size": "8", "class": "vMoneyField"})
        return attrs


def to_minor_units(value: Decimal, currency: str) -> int:
    """Decimal major units -> int minor units; ValidationError when the currency has no such
    fraction (0.005 EUR, 0.5 JPY)."""
    try:
        return money.parse_amount(str(value), currency)
    except ValueError as exc:
        raise ValidationError(
            gettext("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency, "places": money.minor_exponent(currency)},
            code="money_precision",
        ) from exc


# --- The base form of every venue-scoped admin form ------------------------------------------


class VenueScopedForm(forms.ModelForm):
    """A ModelForm that keeps a row and everything it points at in one venue.

    - Existing rows: foreign key choices are narrowed to the row's venue.
    - Any row: a choice from another venue is an error on that field (a second check behind
      the admin's own narrowing to the user's venues, for users of several venues).
    - MoneyField values are shown in, and converted from, the venue's currency.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        venue = venue_of(self.instance) if self.instance.pk else None
        if venue is None:
            return
        first_hop = (venue_lookup(self._meta.model) or "").split("__")[0]
        for name, field in self.fields.items():
            if name == first_hop:
                continue
            if isinstance(field, forms.ModelChoiceField):
                lookup = venue_lookup(field.queryset.model)
                if lookup:
                    field.queryset = field.queryset.filter(**{lookup: venue.pk})
            elif isinstance(field, MoneyField):
                value = self.initial.get(name)
                if isinstance(value, int):
                    self.initial[name] = money.to_decimal(value, venue.currency)
                field.help_text = field.help_text or _("In %(currency)s.") % {
                    "currency": venue.currency
                }

    def _row_venue(self) -> Venue | None:
        """The venue this row will belong to, from the cleaned data or the instance."""
        lookup = venue_lookup(self._meta.model)
        if lookup is None:
            return None
        if lookup == "pk":
            return self.instance
        first, *rest = lookup.split("__")
        if first in self.fields:
            target = self.cleaned_data.get(first)
        else:
            target = getattr(self.instance, first, None)
        for hop in rest:
            target = getattr(target, hop, None) if target is not None else None
        return target

    def clean(self):
        cleaned = super().clean()
        venue = self._row_venue()
        if venue is None:
            # Amounts cannot be read without the venue's currency.
            for name, field in self.fields.items():
                if isinstance(field, MoneyField) and cleaned.get(name) is not None:
                    self.add_error(name, _("Choose the venue first."))
            return cleaned
        first_hop = (venue_lookup(self._meta.model) or "").split("__")[0]
        for name, value in list(cleaned.items()):
            field = self.fields.get(name)
            if name == first_hop or field is None:
                continue
            if isinstance(value, models.Model):
                other = venue_id_of(value)
                if other is not None and other != venue.pk:
                    self.add_error(
                        name,
                        _("Choose one of %(venue)s; this belongs to another venue.")
                        % {"venue": venue.name},
                    )
            elif isinstance(field, MoneyField) and value is not None:
                try:
                    cleaned[name] = to_minor_units(value, venue.currency)
                except ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        # The venue of an existing row is read-only (not a form field), but it is set on the
        # instance: keep it in the model validation so per-venue unique constraints
        # (one PLU per venue, ...) are checked and shown as form errors, not a crash.
        if getattr(self.instance, "venue_id", None) is not None:
            exclude.discard("venue")
        return exclude


WEEKDAY_CHOICES = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


class MenuWindowForm(VenueScopedForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "inline-weekdays"}),
        initial=[0, 1, 2, 3, 4, 5, 6],
    )

    class Meta:
        model = MenuWindow
        fields = ["weekdays", "starts_at", "ends_at"]

    def clean_weekdays(self):
        return sorted(set(self.cleaned_data["weekdays"]))


class StaffChangeForm(VenueScopedForm):
    """Editing a profile: a venue keeps at least one active owner."""

    class Meta:
        model = StaffMember
        fields = ["display_name", "role", "is_active"]

    def clean(self):
        cleaned = super().clean()
        staff = self.instance
        if not staff.pk:
            return cleaned
        owner = StaffMember.Role.OWNER
        was_owner = self.initial.get("role") == owner and bool(self.initial.get("is_active"))
        new_role = cleaned.get("role", staff.role)
        stays_owner = new_role == owner and bool(cleaned.get("is_active", staff.is_active))
        if was_owner and not stays_owner:
            others = StaffMember.objects.filter(
                venue_id=staff.venue_id, role=StaffMember.Role.OWNER, is_active=True
            ).exclude(pk=staff.pk)
            if not others.exists():
                raise ValidationError(
                    _("%(venue)s needs at least one active owner; make someone else owner first.")
                    % {"venue": staff.venue.name},
                    code="last_owner",
                )
        return cleaned


# --- Staff PINs -----------------------------------------------------------------------------


def _pin_field(label):
    return forms.CharField(
        label=label,
        min_length=4,
        max_length=6,
        strip=True,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "new-password", "size": "8"}
        ),
        help_text=_("4 to 6 digits, different from everyone else's at this venue."),
    )


class PinPairMixin:
    """Two PIN fields, `pin` and `pin_confirm`, that must be digits and match."""

    def clean_pin(self):
        pin = self.cleaned_data["pin"]
        if not PIN_RE.fullmatch(pin):
            raise ValidationError(_("A PIN is 4 to 6 digits."), code="invalid_pin")
        return pin

    def _check_pins_match(self):
        pin = self.cleaned_data.get("pin")
        confirm = self.cleaned_data.get("pin_confirm")
        if pin and confirm and pin != confirm:
            self.add_error("pin_confirm", _("The two PINs differ."))


class PinResetForm(PinPairMixin, forms.Form):
    pin = _pin_field(_("New PIN"))
    pin_confirm = _pin_field(_("New PIN again"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pin_confirm"].help_text = ""

    def clean(self):
        cleaned = super().clean()
        self._check_pins_match()
        return cleaned


class StaffAddForm(PinPairMixin, forms.Form):
    """Add a staff member: the admin passes the values to services.staff_create."""

    venue = forms.ModelChoiceField(label=_("Venue"), queryset=Venue.objects.none())
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        widget=forms.TextInput(attrs={"class": "vTextField", "autocomplete": "off"}),
        help_text=_(
            "Their sign-in name. Someone who already has an account (at another venue) keeps "
            "it and gets a profile here too."
        ),
    )
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=60,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text=_("Shown on tablets, tickets and receipts."),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=StaffMember.Role.choices, initial=StaffMember.Role.SERVER
    )
    pin = _pin_field(_("PIN"))
    pin_confirm = _pin_field(_("PIN again"))
    email = forms.EmailField(
        label=_("Email"),
        required=False,
        widget=forms.EmailInput(attrs={"class": "vTextField"}),
    )
    password = forms.CharField(
        label=_("Back-office password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Only for owners and managers with a new account, to sign in here. "
            "Leave empty for floor and kitchen staff: they use their PIN."
        ),
    )

    def __init__(self, *args, venues=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pin_confirm"].help_text = ""
        if venues is not None:
            self.fields["venue"].queryset = venues
            if len(venues) == 1:
                self.fields["venue"].initial = venues[0].pk

    def clean(self):
        cleaned = super().clean()
        self._check_pins_match()
        venue = cleaned.get("venue")
        username = cleaned.get("username")
        password = cleaned.get("password")
        existing = get_user_model().objects.filter(username=username).first() if username else None
        if (
            existing is not None
            and venue is not None
            and StaffMember.objects.filter(venue=venue, user=existing).exists()
        ):
            self.add_error(
                "username",
                _("%(username)s already has a profile at %(venue)s.")
                % {"username": username, "venue": venue.name},
            )
        if password:
            if existing is not None:
                self.add_error(
                    "password",
                    _("%(username)s already has an account; leave the password empty.")
                    % {"username": username},
                )
            elif cleaned.get("role") not in (StaffMember.Role.OWNER, StaffMember.Role.MANAGER):
                self.add_error(
                    "password", _("Only owners and managers sign in to the back office.")
                )
            else:
                user = get_user_model()(username=username, email=cleaned.get("email", ""))
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    self.add_error("password", exc)
        return cleaned


# --- Bulk price change ------------------------------------------------------------------------

ROUNDING_CHOICES = [
    ("", _("No rounding")),
    ("0.05", _("to 0.05")),
    ("0.10", _("to 0.10")),
    ("0.50", _("to 0.50")),
    ("1.00", _("to 1.00")),
]


class PriceChangeForm(forms.Form):
    """Change the selected items' prices by a percentage or by an amount, then round.

    Amounts are money in the venue's currency ("0.50"); the admin converts them to minor units
    per venue and calls services.menu_items_change_price.
    """

    percent = DecimalInputField(
        label=_("By percentage"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-100"),
        max_value=Decimal("1000"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "8"}),
        help_text=_("10 raises prices by 10%, -5 lowers them by 5%."),
    )
    amount = MoneyField(
        label=_("Or by amount"),
        required=False,
        help_text=_("0.50 adds fifty cents to every price, -1.00 takes one off."),
    )
    round_to = forms.ChoiceField(
        label=_("Round the new prices"),
        choices=ROUNDING_CHOICES,
        required=False,
        help_text=_("Halves round up: 4.125 to 0.05 becomes 4.15."),
    )

    def clean(self):
        cleaned = super().clean()
        percent = cleaned.get("percent")
        amount = cleaned.get("amount")
        if "percent" in self.errors or "amount" in self.errors:
            return cleaned
        if (percent is None) == (amount is None):
            raise ValidationError(
                _("Give either a percentage or an amount, not both."), code="percent_or_amount"
            )
        return cleaned

    def minor_units(self, currency: str) -> tuple[int | None, int]:
        """(amount, round_to) in minor units of `currency`; ValidationError when impossible."""
        amount = self.cleaned_data.get("amount")
        round_to = self.cleaned_data.get("round_to") or ""
        amount_minor = to_minor_units(amount, currency) if amount is not None else None
        step = to_minor_units(Decimal(round_to), currency) if round_to else 1
        if step < 1:
            raise ValidationError(
                _("%(currency)s prices cannot be rounded to %(step)s.")
                % {"currency": currency, "step": round_to}
            )
        return amount_minor, step
