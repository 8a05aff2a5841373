"""The time bank (时间银行, issue 16 Must have 5): a double-entry ledger of service hours per community."""
