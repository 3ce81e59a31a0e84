"""factory_boy factories for the ticket core."""

from __future__ import annotations

import factory
from django.contrib.auth.models import User

from helpdesk import services
from helpdesk.models import Customer, CustomerEmail, Queue, Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"agent{n}")
    is_staff = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Faker("name")
    language = "de"
    email = factory.RelatedFactory(
        "tests.factories.CustomerEmailFactory", factory_related_name="customer", is_primary=True
    )


class CustomerEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerEmail

    customer = factory.SubFactory(CustomerFactory, email=None)
    address = factory.Sequence(lambda n: f"customer{n}@example.ch")
    is_primary = False


def support_queue() -> Queue:
    return Queue.objects.get(slug="support")


def message_data(**overrides: object) -> services.MessageData:
    values: dict[str, object] = {
        "from_name": "Monika Huber",
        "from_address": "monika@baeckerei.example",
        "to": ["support@hosting.example"],
        "subject": "Mails kommen nicht an",
        "text": "Seit gestern kommen keine Mails an.",
        "reply_text": "Seit gestern kommen keine Mails an.",
    }
    values.update(overrides)
    return services.MessageData(**values)  # type: ignore[arg-type]


def open_ticket(*, customer: Customer | None = None, **message: object) -> Ticket:
    owner: Customer = customer or CustomerFactory.create()
    return services.ticket_open(customer=owner, queue=support_queue(), message=message_data(**message))
