"""The API's request and response models, one module per audience; ``common`` holds what they share."""
