"""Customers: their addresses, phone numbers, language and tickets; merging two records of one customer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.admin import access
from helpdesk.models import Customer, CustomerEmail, CustomerPhone


class CustomerEmailInline(admin.TabularInline):
    model = CustomerEmail
    extra = 0


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


class MergeTargetForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Customer.objects.none(), widget=forms.RadioSelect, label=_("customer record that remains")
    )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "primary_address", "language", "account_ref", "ticket_count", "created_at"]
    list_filter = ["language"]
    search_fields = ["name", "emails__address", "phones__number", "account_ref"]
    inlines = [CustomerEmailInline, CustomerPhoneInline]
    readonly_fields = ["created_at"]
    fields = ["name", "language", "account_ref", "notes", "created_at"]
    show_full_result_count = False
    actions = ["merge_customers"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        primary = CustomerEmail.objects.filter(customer=OuterRef("pk"), is_primary=True).values("address")[:1]
        # Agents see the customers of their queues, and count only the tickets they may open.
        visible = (
            access.visible_tickets(request)
            .filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return access.visible_customers(request).annotate(
            primary_email=Subquery(primary), tickets_total=Coalesce(Subquery(visible), 0)
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Customer | None:
        customer = super().get_object(request, object_id, from_field)
        if customer is None:
            # Another queue's customer: a 404 like an unknown one, not the admin's redirect to the index.
            raise Http404
        return customer

    @admin.display(description=_("address"))
    def primary_address(self, customer: Customer) -> str:
        return getattr(customer, "primary_email", "") or ""

    @admin.display(description=_("tickets"), ordering="tickets_total")
    def ticket_count(self, customer: Customer) -> int:
        return int(getattr(customer, "tickets_total", 0))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Only the tickets of the agent's own queues, like everywhere else.
        tickets = (
            access.visible_tickets(request)
            .filter(customer_id=object_id if object_id.isdigit() else 0)
            .select_related("queue")
            .order_by("-created_at")[:50]
        )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "tickets": tickets}
        )

    @admin.action(description=_("Merge the selected customers into one"), permissions=["delete"])
    def merge_customers(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        selected = queryset.order_by("pk")
        if selected.count() < 2:
            self.message_user(request, gettext("Select at least two customers."), messages.WARNING)
            return None
        form = MergeTargetForm(request.POST if "target" in request.POST else None)
        form.fields["target"].queryset = selected  # type: ignore[attr-defined]
        if form.is_bound and form.is_valid():
            target = form.cleaned_data["target"]
            for source in selected.exclude(pk=target.pk):
                services.customer_merge(source=source, target=target)
            self.message_user(
                request, gettext("Customers merged into %(name)s.") % {"name": target}, messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Merge customers"),
            "form": form,
            "customers": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/helpdesk/customer/merge.html", context)
