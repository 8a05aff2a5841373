"""Forms of the accounts pages (``/people/users/``): the list's filters, an account's name, role and
region (picked from lists, by name), and the confirmations that guard deactivating an account, giving
it a new password, removing its second factor and ending its lockout."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.core.choices import Role
from banyan.core.errors import BanyanError
from banyan.people.accounts import STAFF_ROLES
from banyan.places.models import Region
from banyan.places.words import region_words

ANY = ""
ACTIVE = "active"
INACTIVE = "inactive"
SEARCH_MAX = 100


def region_choices(regions) -> list[tuple[str, str]]:
    """Regions by name, a community or grid with the region it lies in ("东坡第一网格 · 东坡社区"), in the
    order of the region tree."""
    regions = list(regions)
    names = {region.pk: region_words(region) for region in regions}
    parents = {p.pk: region_words(p) for p in Region.objects.filter(pk__in={r.parent_id for r in regions})}
    choices = []
    for region in regions:
        parent = names.get(region.parent_id) or parents.get(region.parent_id)
        label = (
            _("%(region)s · %(parent)s") % {"region": names[region.pk], "parent": parent}
            if parent
            else names[region.pk]
        )
        choices.append((str(region.pk), label))
    return choices


class AccountFilterForm(forms.Form):
    """Which accounts the list shows: by role, region (its whole area), state and a name or user name.
    A value that is not a choice is reported next to its field and that filter is left out."""

    q = forms.CharField(label=gettext_lazy("Name or user name"), required=False, max_length=SEARCH_MAX)
    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False)
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[
            (ANY, gettext_lazy("Active or not")),
            (ACTIVE, gettext_lazy("Active")),
            (INACTIVE, gettext_lazy("Deactivated")),
        ],
    )

    def __init__(self, *args, regions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [(ANY, _("Every role")), *Role.choices]
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (ANY, _("Every region")),
            *region_choices(regions),
        ]

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {name: (self.cleaned_data.get(name) or "").strip() for name in self.fields}


class AccountForm(forms.Form):
    """An account's user name (a new account only), name (family name first, as Chinese names are
    written), role (the staff roles, in words) and the region it serves (by name)."""

    username = forms.CharField(
        label=gettext_lazy("User name"),
        max_length=150,
        help_text=gettext_lazy(
            "What the person types to sign in: letters, digits and @ . + - _, e.g. wangfang."
        ),
        error_messages={"required": gettext_lazy("Give the account a user name.")},
    )
    family_name = forms.CharField(
        label=gettext_lazy("Family name"),
        max_length=150,
        error_messages={"required": gettext_lazy("Give the person's family name.")},
    )
    given_name = forms.CharField(label=gettext_lazy("Given name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), error_messages={"required": gettext_lazy("Choose the account's role.")}
    )
    region = forms.ChoiceField(
        label=gettext_lazy("Region served"),
        required=False,
        help_text=gettext_lazy(
            "A street for a street officer, a community for a director, a grid for a grid worker; "
            "none for administrators and auditors, who serve every region."
        ),
    )

    def __init__(self, *args, regions, account=None, **kwargs) -> None:
        self.account = account
        if account is not None and "data" not in kwargs and not args:
            kwargs["initial"] = {
                "family_name": account.last_name,
                "given_name": account.first_name,
                "role": account.role,
                "region": str(account.region_id or ""),
            }
        super().__init__(*args, **kwargs)
        self.regions = {str(region.pk): region for region in regions}
        roles = [(role, Role(role).label) for role in STAFF_ROLES]
        if account is not None:
            del self.fields["username"]
            if account.role == Role.RESIDENT:
                roles = [(Role.RESIDENT.value, Role.RESIDENT.label)]
        cast(forms.ChoiceField, self.fields["role"]).choices = [(ANY, _("Choose a role")), *roles]
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (ANY, _("None: every region")),
            *region_choices(regions),
        ]

    def service_data(self) -> dict[str, Any]:
        """What ``accounts.create_account`` or ``update_account`` takes."""
        data = self.cleaned_data
        out = {
            "family_name": data["family_name"],
            "given_name": data["given_name"],
            "role": data["role"],
            "region": self.regions.get(data.get("region") or ""),
        }
        if "username" in self.fields:
            out["username"] = data["username"]
        return out

    def add_service_error(self, exc: BanyanError) -> None:
        """Put a service's error next to the field it names."""
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class ConfirmForm(forms.Form):
    """A step that cannot be taken back needs its box ticked: the label says what it does."""

    confirm = forms.BooleanField(
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )

    def __init__(self, *args, label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = label


class AccountActiveForm(ConfirmForm):
    """Deactivating an account (``active`` 0) or reactivating it (1), confirmed."""

    active = forms.TypedChoiceField(
        choices=[("0", "0"), ("1", "1")],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("Say whether the account is to be deactivated or reactivated."),
            "invalid_choice": gettext_lazy("Say whether the account is to be deactivated or reactivated."),
        },
    )

    def add_service_error(self, exc: BanyanError) -> None:
        self.add_error(None, exc.message)
