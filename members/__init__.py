"""Who the members are: the program's settings, members, enrolment and referral codes."""
