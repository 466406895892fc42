"""Victim rights information package — English (a translation of pt.py, which is the reference version).

REQUIRES EXPERT LEGAL REVIEW: written by engineers from public sources (Law 7/2008, Law 15/2012 of 14
August, the IPAJ's mandate); a lawyer and a child-protection specialist must review it before use with
real children and families. Child texts: short sentences.
"""

from __future__ import annotations

CONTENT = {
    "language": "en",
    "title": {
        "child": "Your rights",
        "caregiver": "Rights of the child and the family",
    },
    "intro": {
        "child": (
            "What happened is not your fault. You did the right thing by telling. "
            "There are people whose job is to help you and keep you safe."
        ),
        "caregiver": (
            "This leaflet explains the rights of the child and the family after a report of sexual abuse or "
            "exploitation, including online, and what happens next. Keep it in a safe place."
        ),
    },
    "rights_heading": {"child": "Your rights", "caregiver": "The rights of the child and the family"},
    "rights": {
        "child": [
            (
                "Privacy",
                "Your story is private. We only tell it to people who need to know to help you. "
                "Your name and your photo must not appear in newspapers, on the radio or on the internet.",
            ),
            (
                "Being heard",
                "You have the right to say what you think and to be listened to. You can ask for a person "
                "you trust to stay with you. People should not ask you the same thing many times. "
                "You can say you did not understand and ask for a break.",
            ),
            (
                "Protection",
                "You have the right to be safe. If you are afraid, say so. The law (Law 15/2012) protects "
                "victims and witnesses. For example, your name can be kept hidden and you can speak without "
                "being near the person who hurt you.",
            ),
            (
                "Help from a lawyer",
                "You can get help from a lawyer without paying. IPAJ gives this help.",
            ),
            (
                "Making it right",
                "The person who hurt you may have to pay for the harm. An adult you trust can ask for this for you.",
            ),
        ],
        "caregiver": [
            (
                "Right to privacy",
                "The child's identity is protected. Information about the case is shared only between the "
                "services that need it, with your consent and the child's, or where the law allows it (for "
                "example, when the child is in danger). The media must not publish the child's name, picture "
                "or details that identify the child (Law 7/2008 on the promotion and protection of the rights "
                "of the child).",
            ),
            (
                "Right to be heard",
                "The child has the right to give their views and to be heard, in a way suited to their age, "
                "and to have those views taken into account. The child should be interviewed as few times as "
                "possible, by trained staff, with a trusted person present if the child wishes. The family has "
                "the right to be told how the case is progressing.",
            ),
            (
                "Right to protection",
                "The child, the family and witnesses have the right to protection. Law 15/2012 of 14 August "
                "protects victims, whistle-blowers, witnesses, declarants and experts in criminal proceedings. "
                "Measures can include keeping identities hidden, giving statements without contact with the "
                "suspect (for example by video link), police protection and other safety measures. Ask the "
                "police, the Public Prosecutor or the court for them if you fear threats or reprisals.",
            ),
            (
                "Right to legal aid",
                "People without means have the right to free legal advice and representation from IPAJ "
                "(Institute for Legal Representation and Assistance). You can ask IPAJ for help to follow "
                "the case and make your requests.",
            ),
            (
                "Right to compensation",
                "The victim has the right to claim compensation for the harm suffered. The claim can be made "
                "in the criminal proceedings; the Public Prosecutor or IPAJ can explain how and by when.",
            ),
        ],
    },
    "next_heading": {"child": "What happens now", "caregiver": "What happens next"},
    "next": {
        "child": {
            "received": "We received what you told us. Someone will read it carefully and decide how to help you.",
            "triaged": "We have read what you told us. We are finding the best person to help you.",
            "assigned": "A person is looking after your case. They may talk to you or to an adult you trust.",
            "referred": "Your case was sent to a service that can help more. They will contact you.",
            "under_investigation": (
                "The police are investigating. They may ask you to talk. You can have an adult you trust with you."
            ),
            "with_prosecutor": "The Public Prosecutor is studying the case. They decide if it goes to court.",
            "in_court": (
                "The case is in court. If you have to speak, they will prepare you. "
                "You can ask not to see the person who hurt you."
            ),
            "closed": "The case is closed. If you need help or feel afraid, you can call {helpline} at any time.",
        },
        "caregiver": {
            "received": (
                "The case has been received and will be assessed by a case worker, who decides its priority "
                "and the next steps. If the child is in immediate danger, call {police}."
            ),
            "triaged": (
                "The case has been assessed and classified. It will be given to a case worker or to another "
                "competent service (police, social welfare, health)."
            ),
            "assigned": (
                "A case worker has been assigned. They may contact you to gather information, arrange support "
                "or refer the child to services."
            ),
            "referred": (
                "The case has been referred to another service (for example the police or social welfare), "
                "which decides whether to accept it and then follows it. It receives only the information it "
                "needs."
            ),
            "under_investigation": (
                "The case is under investigation (police/SERNIC). The child may be interviewed: ask for the "
                "interview to be done once, by trained staff, with a trusted person present."
            ),
            "with_prosecutor": (
                "The case is with the Public Prosecutor, who decides whether to charge the suspect. You can ask "
                "for information about the proceedings and for protection measures, and make a claim for "
                "compensation."
            ),
            "in_court": (
                "The case is in court. You can ask for the child to be heard without contact with the accused "
                "and for the child's identity to be protected. IPAJ can assist you free of charge."
            ),
            "closed": (
                "The case has been closed. You can ask for information about the decision. If there is new "
                "information or the child is in danger again, contact the {helpline} helpline or the police."
            ),
        },
    },
    "contacts_heading": {"child": "Who can help", "caregiver": "Contacts"},
    "contact_helpline": {
        "child": "Linha Fala Criança child helpline: {helpline}. Free, any time.",
        "caregiver": "Linha Fala Criança child helpline: {helpline} (free, 24 hours).",
    },
    "contact_police": {
        "child": "If you are in danger now: {police} (police).",
        "caregiver": "Emergency and police: {police}.",
    },
    "contact_agency": {
        "child": "Who is looking after your case: %(agency)s.",
        "caregiver": "Service following the case: %(agency)s.",
    },
    "nearby_heading": {"child": "Services near you", "caregiver": "Nearest services"},
    "free_label": "free",
    "reference": {
        "case": {"child": "Your case number: %(reference)s", "caregiver": "Case reference: %(reference)s"},
        "receipt": {"child": "Your receipt: %(reference)s", "caregiver": "Receipt: %(reference)s"},
    },
    "reference_note": {
        "child": "Keep this number in a safe place. Do not show it to anyone you do not trust.",
        "caregiver": "Give this reference whenever you contact the services. Keep it in a safe place.",
    },
    "footer": "General information; not a substitute for legal advice.",
    # SMS (folded to GSM-7 and kept within 3 parts by amparo.cases.rights.sms_text).
    "sms": {
        "child": (
            "Amparo: you have rights. Your story is private. You have the right to be heard, to protection "
            "(Law 15/2012) and to a free lawyer (IPAJ). %(status)s Ref: %(reference)s. "
            "Help: {helpline} free. Danger: {police}. Case: %(agency)s."
        ),
        "caregiver": (
            "Amparo: rights of the child and family: privacy; to be heard; protection (Law 15/2012); free "
            "legal aid (IPAJ); to claim compensation. %(status)s Ref: %(reference)s. "
            "Contacts: {helpline} free 24h; emergency {police}; %(agency)s."
        ),
    },
    "sms_status": {
        "received": "Case received, to be assessed.",
        "triaged": "Case assessed, to be given to a case worker.",
        "assigned": "A case worker follows the case.",
        "referred": "Case referred to another service.",
        "under_investigation": "Case under investigation.",
        "with_prosecutor": "Case with the Public Prosecutor.",
        "in_court": "Case in court.",
        "closed": "Case closed.",
    },
    "sms_nearby": " Near you: %(services)s.",
}
