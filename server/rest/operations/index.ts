// Each operation module registers itself when imported; this list is the one place they are loaded.
export {};
