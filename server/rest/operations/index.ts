// Each operation module registers itself when imported; this list is the one place they are loaded.
import './everything.js';
import './medications.js';
import './care-team.js';
import './match.js';
import './merge.js';
import './subscription-checks.js';
import './subscription-status.js';
import './subscription-events.js';
import './subscription-ws-token.js';
import './process-message.js';
import './validate.js';
import './terminology.js';
import './export.js';
import './scheduling.js';
