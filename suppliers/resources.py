"""The supplier-list column schema, declared once for django-import-export."""

from import_export import fields, resources

from suppliers.models import Factory


class FactoryResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="factory_name")

    class Meta:
        model = Factory
        fields = (
            "id",
            "name",
            "name_latin",
            "address",
            "city",
            "country",
            "sector",
            "product_type",
            "workers_total",
            "workers_women",
            "os_id",
            "parent_company",
            "contact_name",
            "contact_email",
            "contact_phone",
        )
        import_id_fields = ("id",)
        skip_unchanged = True
