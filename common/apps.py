from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self):
        from auditlog.models import LogEntry
        from django.db.models.signals import post_migrate, pre_migrate, pre_save

        from common.audit import log_entry_complete
        from common.request_id import celery_signals_connect

        celery_signals_connect()
        from common import after_reply

        after_reply.connect()
        from celery.signals import worker_ready

        from common.jobs import on_worker_ready

        worker_ready.connect(on_worker_ready, dispatch_uid="jobs_orphaned_fail")
        pre_save.connect(log_entry_complete, sender=LogEntry, dispatch_uid="audit_actor_label")
        from auditlog.signals import pre_log

        from common.audit import object_logged

        pre_log.connect(object_logged, dispatch_uid="audit_object_names")
        from common.sql import prepared_forget

        pre_migrate.connect(prepared_forget, dispatch_uid="sql_prepared_forget_before")
        post_migrate.connect(prepared_forget, dispatch_uid="sql_prepared_forget_after")
        from common.made_up_labels import labels_translate

        labels_translate()
        from common.axes_words import axes_words_install

        axes_words_install()
