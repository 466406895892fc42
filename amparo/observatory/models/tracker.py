"""The national action tracker (Act, Educate, Invest) and the training register."""

__all__: list[str] = []
