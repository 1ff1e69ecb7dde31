"""What tests share. Test modules and conftest files import helpers from here only, never
from each other: client (GraphQL over HTTP as a client), clock (T0), ports (one free_port),
live (real servers), peers (local SMTP and Zoom), workers, lifecycle, security, calendars,
node, differential."""
