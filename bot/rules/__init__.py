"""The guide's mail rules, kept by the bot.

- categories.py: order@ mail sorted into po / delivery / shipping / exception, support@ mail by alias;
- milestones_cc.py + cc_rule.py: key milestone mails and the shared mailboxes they must CC; CC gaps;
- naming.py: `[RFQ]-Customer-Product-Date` subjects and `Product-Model-Currency-Validity-Version` files;
- routing.py: new inquiries from customers nobody owns, proposed to a person, claimed or passed on;
- collisions.py: two salespeople on one customer (撞单);
- pool.py: customers nobody has written to for too long return to the pool (公海);
- digest.py: compliance figures per team and person;
- engine.py: the one `tick(now)` that drives it all, and the archive indexer.
"""
