"""The dashboard's forms for operators. Rules and targets use the admin's forms, so both places check
patterns, URLs, transformers and handlers the same way."""

from django import forms

from dashboard.admin import RuleForm, TargetForm
from dashboard.models import ApiKey, Target

__all__ = ["ApiKeyForm", "RuleForm", "TargetEditForm"]


class TargetEditForm(TargetForm):
    """The admin's target form without the signing secret: a secret is rotated (and shown once), never typed."""

    class Meta(TargetForm.Meta):
        fields = tuple(name for name in TargetForm.Meta.fields if name != "signing_secret")

    def clean(self) -> dict:
        data = super().clean()
        # The rule is not a field here, so Django leaves the (rule, name) constraint to the database.
        same_name = Target.objects.filter(rule=self.instance.rule, name=data.get("name")).exclude(pk=self.instance.pk)
        if same_name.exists():
            self.add_error("name", "This rule has a target by that name already.")
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses it, for example 'shop backend'.")
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["publish"],
        help_text="publish: send events; read: read events and state; admin: everything, including redrive.",
    )
