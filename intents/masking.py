"""Personal data that must not leave the machine (the LLM) or be shown in full: the one rule of
crm_core.masking, with a map to restore the masked numbers locally."""
from crm_core.masking import mask_personal, phones_in

__all__ = ["mask_personal", "phones_in"]
