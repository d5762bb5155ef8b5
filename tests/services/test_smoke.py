from app.models import Account, Contact
from app.services.contacts import ContactData, upsert_contacts


async def test_upsert_smoke(account: Account) -> None:
    result = await upsert_contacts(account, [ContactData(email="A@x.com", tags=["vip"])])
    assert not result.errors
    assert await Contact.filter(account=account).count() == 1
