"""Pacote de informação sobre os direitos da vítima — Português (the reference version).

REQUIRES EXPERT LEGAL REVIEW: written by engineers from public sources (Lei n.º 7/2008, Lei n.º 15/2012 de
14 de Agosto, the IPAJ's mandate); a lawyer and a child-protection specialist must review it before use
with real children and families. Child texts: short sentences, "tu"; caregiver texts: "você".
"""

from __future__ import annotations

CONTENT = {
    "language": "pt",
    "title": {
        "child": "Os teus direitos",
        "caregiver": "Direitos da criança e da família",
    },
    "intro": {
        "child": (
            "O que aconteceu não é culpa tua. Fizeste bem em contar. "
            "Há pessoas cujo trabalho é ajudar-te e proteger-te."
        ),
        "caregiver": (
            "Este documento explica os direitos da criança e da família depois de uma denúncia de abuso ou "
            "exploração sexual, incluindo online, e o que acontece a seguir. Guarde-o em lugar seguro."
        ),
    },
    "rights_heading": {"child": "Os teus direitos", "caregiver": "Os direitos da criança e da família"},
    "rights": {
        "child": [
            (
                "Privacidade",
                "A tua história é privada. Só a contamos a quem precisa de saber para te ajudar. "
                "O teu nome e a tua foto não podem aparecer nos jornais, na rádio ou na internet.",
            ),
            (
                "Ser ouvido",
                "Tens o direito de dizer o que pensas e de ser ouvido. Podes pedir que uma pessoa "
                "de confiança fique contigo. Não devem perguntar-te a mesma coisa muitas vezes. "
                "Podes dizer que não percebeste e pedir uma pausa.",
            ),
            (
                "Protecção",
                "Tens o direito de estar seguro. Se tiveres medo, diz. A lei (Lei n.º 15/2012) "
                "protege as vítimas e as testemunhas. Por exemplo, o teu nome pode ficar escondido "
                "e podes falar sem estar ao pé da pessoa que te fez mal.",
            ),
            (
                "Ajuda de um advogado",
                "Podes ter ajuda de um advogado sem pagar. O IPAJ dá esta ajuda.",
            ),
            (
                "Reparação",
                "Quem te fez mal pode ter de pagar pelos danos. Um adulto de confiança pode pedir isto por ti.",
            ),
        ],
        "caregiver": [
            (
                "Direito à privacidade",
                "A identidade da criança é protegida. A informação do caso só é partilhada entre os serviços "
                "que precisam dela, com o seu consentimento e o da criança, ou quando a lei o permite (por "
                "exemplo, se a criança estiver em perigo). A comunicação social não pode divulgar o nome, a "
                "imagem ou dados que identifiquem a criança (Lei n.º 7/2008, de promoção e protecção dos "
                "direitos da criança).",
            ),
            (
                "Direito a ser ouvido",
                "A criança tem o direito de dar a sua opinião e de ser ouvida, de forma adequada à sua idade, "
                "e de que a sua opinião seja tida em conta. Deve ser entrevistada o menor número de vezes "
                "possível, por pessoal preparado, com uma pessoa de confiança presente quando o desejar. "
                "A família tem o direito de ser informada sobre o andamento do caso.",
            ),
            (
                "Direito à protecção",
                "A criança, a família e as testemunhas têm direito à protecção. A Lei n.º 15/2012, de 14 de "
                "Agosto, protege vítimas, denunciantes, testemunhas, declarantes e peritos em processo penal. "
                "As medidas podem incluir a ocultação da identidade, declarações prestadas sem contacto com o "
                "suspeito (por exemplo, por videoconferência), protecção policial e outras medidas de "
                "segurança. Peça-as à polícia, ao Ministério Público ou ao tribunal se tiver medo de "
                "ameaças ou represálias.",
            ),
            (
                "Direito a assistência jurídica",
                "Quem não tem meios tem direito a assistência jurídica e patrocínio judiciário gratuitos, "
                "prestados pelo IPAJ (Instituto de Patrocínio e Assistência Jurídica). Pode pedir ajuda ao "
                "IPAJ para acompanhar o processo e fazer os seus pedidos.",
            ),
            (
                "Direito a indemnização",
                "A vítima tem direito a pedir uma indemnização pelos danos sofridos. O pedido pode ser feito "
                "no processo-crime; o Ministério Público ou o IPAJ podem explicar como e até quando.",
            ),
        ],
    },
    "next_heading": {"child": "O que acontece agora", "caregiver": "O que acontece a seguir"},
    "next": {
        "child": {
            "received": "Recebemos o que contaste. Uma pessoa vai ler com cuidado e decidir como te ajudar.",
            "triaged": "Já lemos o que contaste. Estamos a ver quem é a melhor pessoa para te ajudar.",
            "assigned": "Uma pessoa está a tratar do teu caso. Ela pode falar contigo ou com um adulto de confiança.",
            "referred": "O teu caso foi enviado a um serviço que pode ajudar mais. Eles vão contactar-te.",
            "under_investigation": (
                "A polícia está a investigar. Podem pedir-te para falar. Podes ter um adulto de confiança contigo."
            ),
            "with_prosecutor": (
                "O Ministério Público está a estudar o caso. Decide se o caso vai a tribunal."
            ),
            "in_court": (
                "O caso está no tribunal. Se tiveres de falar, vão preparar-te. "
                "Podes pedir para não ver a pessoa que te fez mal."
            ),
            "closed": (
                "O caso foi fechado. Se precisares de ajuda ou tiveres medo, podes ligar {helpline} a qualquer hora."
            ),
        },
        "caregiver": {
            "received": (
                "O caso foi recebido e vai ser analisado por um técnico, que decide a prioridade e os passos "
                "seguintes. Se a criança estiver em perigo imediato, ligue {police}."
            ),
            "triaged": (
                "O caso foi analisado e classificado. Vai ser entregue a um técnico ou a outro serviço "
                "competente (polícia, acção social, saúde)."
            ),
            "assigned": (
                "Um técnico foi designado para o caso. Pode contactá-lo(a) para recolher informação, "
                "combinar apoio ou encaminhar a criança para serviços."
            ),
            "referred": (
                "O caso foi encaminhado a outro serviço (por exemplo, a polícia ou a acção social), que "
                "decide se o aceita e passa a acompanhá-lo. Só recebe a informação necessária."
            ),
            "under_investigation": (
                "O caso está em investigação (polícia/SERNIC). A criança pode ser ouvida: peça que a entrevista "
                "seja feita uma só vez, por pessoal preparado, com uma pessoa de confiança presente."
            ),
            "with_prosecutor": (
                "O caso está com o Ministério Público, que decide se acusa o suspeito. Pode pedir informação "
                "sobre o processo e medidas de protecção, e apresentar o pedido de indemnização."
            ),
            "in_court": (
                "O caso está em tribunal. Pode pedir que a criança seja ouvida sem contacto com o arguido e que "
                "a sua identidade seja protegida. O IPAJ pode acompanhá-lo(a) gratuitamente."
            ),
            "closed": (
                "O caso foi encerrado. Pode pedir informação sobre a decisão. Se surgir nova informação ou "
                "a criança voltar a correr perigo, contacte a Linha {helpline} ou a polícia."
            ),
        },
    },
    "contacts_heading": {"child": "Quem pode ajudar", "caregiver": "Contactos"},
    "contact_helpline": {
        "child": "Linha Fala Criança: {helpline}. Grátis, a qualquer hora.",
        "caregiver": "Linha Fala Criança: {helpline} (gratuita, 24 horas).",
    },
    "contact_police": {
        "child": "Se estiveres em perigo agora: {police} (polícia).",
        "caregiver": "Emergência e polícia: {police}.",
    },
    "contact_agency": {
        "child": "Quem trata do teu caso: %(agency)s.",
        "caregiver": "Serviço que acompanha o caso: %(agency)s.",
    },
    "nearby_heading": {"child": "Serviços perto de ti", "caregiver": "Serviços mais próximos"},
    "free_label": "gratuito",
    "reference": {
        "case": {
            "child": "O número do teu caso: %(reference)s",
            "caregiver": "Referência do caso: %(reference)s",
        },
        "receipt": {"child": "O teu recibo: %(reference)s", "caregiver": "Recibo: %(reference)s"},
    },
    "reference_note": {
        "child": "Guarda este número num lugar seguro. Não o mostres a ninguém que não seja de confiança.",
        "caregiver": "Indique esta referência sempre que contactar os serviços. Guarde-a em lugar seguro.",
    },
    "footer": "Informação geral; não substitui aconselhamento jurídico.",
    # SMS (folded to GSM-7 and kept within 3 parts by amparo.cases.rights.sms_text).
    "sms": {
        "child": (
            "Amparo: tens direitos. A tua história é privada. Tens direito a ser ouvido, à protecção "
            "(Lei 15/2012) e a um advogado grátis (IPAJ). %(status)s Ref: %(reference)s. "
            "Ajuda: {helpline} grátis. Perigo: {police}. Caso: %(agency)s."
        ),
        "caregiver": (
            "Amparo: direitos da criança e da família: privacidade; ser ouvida; protecção (Lei 15/2012); "
            "apoio jurídico gratuito (IPAJ); pedir indemnização. %(status)s Ref: %(reference)s. "
            "Contactos: {helpline} grátis 24h; emergência {police}; %(agency)s."
        ),
    },
    "sms_status": {
        "received": "Caso recebido, vai ser analisado.",
        "triaged": "Caso analisado, vai ser entregue a um técnico.",
        "assigned": "Um técnico acompanha o caso.",
        "referred": "Caso encaminhado a outro serviço.",
        "under_investigation": "Caso em investigação.",
        "with_prosecutor": "Caso com o Ministério Público.",
        "in_court": "Caso em tribunal.",
        "closed": "Caso encerrado.",
    },
    "sms_nearby": " Perto: %(services)s.",
}
