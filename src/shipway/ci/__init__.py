"""CI: workflow syntaxes parsed into one plan model, an engine that runs plans, native actions."""
